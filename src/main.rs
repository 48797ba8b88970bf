//! The `studyhall` command: parse the command line, then call the library.

use clap::Parser;
use std::io::BufRead;
use std::process::ExitCode;
use studyhall::config::{Cli, Command, FormatArg, Settings};
use studyhall::web::startup::Application;
use studyhall::{cli, db};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Cli::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("studyhall: {}", cli::error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&args)?;
    let database = &settings.database;
    match args.command.unwrap_or(Command::Serve) {
        Command::Settings => {
            print!("{settings}");
            Ok(())
        }
        Command::Serve => {
            let app = Application::build(settings.clone()).await?;
            println!(
                "studyhall is running: open {}",
                cli::url_of(&settings.bind, app.port())
            );
            println!("(database: {}; stop with Ctrl-C)", settings.database);
            app.run_until_stopped().await?;
            Ok(())
        }
        Command::Import { file, deck, format } => {
            let pool = db::connect(database).await?;
            let format = match format {
                FormatArg::Auto => None,
                FormatArg::Quizwiz => Some(studyhall::import::Format::Quizwiz),
                FormatArg::Tsv => Some(studyhall::import::Format::Tsv),
                FormatArg::Csv => Some(studyhall::import::Format::Csv),
            };
            let report = cli::import_file(&pool, &file, &deck, format).await?;
            println!(
                "imported {} new cards into \"{}\" ({} already there)",
                report.added, report.deck_name, report.already_present
            );
            pool.close().await;
            Ok(())
        }
        Command::Backup { file } => {
            let pool = db::connect(database).await?;
            cli::backup(&pool, &file).await?;
            println!("backed up {} to {}", database, file.display());
            pool.close().await;
            Ok(())
        }
        Command::MigrateTo { target } => {
            let report = cli::migrate_to(database, &target).await?;
            println!("copied {} into {target}:", database);
            print!("{report}");
            Ok(())
        }
        Command::CreateAdmin { name } => {
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let pool = db::connect(database).await?;
            cli::create_admin(&pool, &name, password).await?;
            println!("created admin account \"{}\"", name.trim());
            pool.close().await;
            Ok(())
        }
    }
}
