//! `pipedesk passwd ADDR` and `pipedesk token ADDR`: how a member of staff
//! gets into the web; `pipedesk revoke ADDR`: how that is taken away. The
//! password is read without echo from the terminal (twice, to catch a
//! typo), or as one line from stdin for scripts; the token is printed
//! once, alone on its line.

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::address::Address;
use crate::cli::AddressArgs;
use crate::commands::desk;
use crate::config::Config;
use crate::term::count;

pub fn passwd(config: &Arc<Config>, args: AddressArgs) -> Result<()> {
    let mut desk = desk(config)?;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New web password for {}: ", args.address))
            .context("reading the password")?;
        let again = rpassword::prompt_password("Again: ").context("reading the password")?;
        if first != again {
            bail!("the two passwords differ: nothing was changed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    let address = Address::new(&args.address);
    let ended = desk.set_password(&address, &password, crate::commands::now())?;
    eprintln!(
        "password set for {address}; {} ended",
        count(ended, "session", "sessions")
    );
    Ok(())
}

pub fn revoke(config: &Arc<Config>, args: AddressArgs) -> Result<()> {
    let address = Address::new(&args.address);
    let ended = desk(config)?.revoke(&address)?;
    eprintln!(
        "ended {} and {} of {address}",
        count(ended.sessions, "session", "sessions"),
        count(ended.tokens, "API token", "API tokens")
    );
    Ok(())
}

pub fn token(config: &Arc<Config>, args: AddressArgs) -> Result<()> {
    let token = desk(config)?.new_token(&Address::new(&args.address), crate::commands::now())?;
    crate::term::out(&format!("{token}\n"))
}
