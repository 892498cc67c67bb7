#!/bin/bash
# The MTA end-to-end tests in one go, for .ci/run:
#
#   bash tests/mta/run.sh target/debug/pipedesk
#
# Installs what is missing (tests/mta/install.sh), then runs postfix.sh,
# exim.sh and units.sh, each under a 10-minute hard limit (they take ~20 s,
# ~10 s and ~30 s when all is well; every wait inside is bounded to 30 s).
# Exit 0 when each passed or printed "SKIP: ..."; 1 when any failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:?usage: run.sh /path/to/pipedesk}
if [ "$(id -u)" = 0 ]; then
    bash "$HERE/install.sh" || echo "mta: install.sh failed; the tests below skip what is missing"
fi
rc=0
for t in postfix exim units; do
    timeout -k 10 600 bash "$HERE/$t.sh" "$BIN"
    r=$?
    if [ $r -ne 0 ]; then
        [ $r -eq 124 ] && echo "FAIL - $t.sh did not finish within 600 s"
        rc=1
    fi
done
exit $rc
