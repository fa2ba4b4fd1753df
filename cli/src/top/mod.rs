//! `warden top`: a live terminal view of a service's `/metrics`.

mod model;
mod scrape;
mod view;

use std::io::{self, Write};
use std::time::{Duration, Instant};

use clap::Args;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use model::{Column, Model};

/// Arguments of `warden top`.
#[derive(Debug, Args)]
pub(crate) struct TopArgs {
    /// The service's operations endpoint (`http://127.0.0.1:9464`, or the
    /// full `/metrics` URL).
    endpoint: String,
    /// Print the table once, as text, and exit (two scrapes a second apart,
    /// for rates).
    #[arg(long)]
    once: bool,
    /// Seconds between scrapes.
    #[arg(long, default_value_t = 2.0)]
    interval: f64,
    /// The column to sort by: operation, rate, err, p50, p95, p99, in-flight.
    #[arg(long, default_value = "p95", value_parser = parse_column)]
    sort: Column,
    /// Only operations whose name contains this.
    #[arg(long)]
    filter: Option<String>,
}

fn parse_column(text: &str) -> Result<Column, String> {
    Column::parse(text)
        .ok_or_else(|| format!("{text:?}: one of operation, rate, err, p50, p95, p99, in-flight"))
}

/// Runs `warden top`; the exit code.
pub(crate) fn run(args: TopArgs) -> io::Result<u8> {
    let mut model = Model::new(&args.endpoint, args.sort);
    model.filter = args.filter.clone().unwrap_or_default();
    if args.once {
        return once(&args, &mut model);
    }
    let interval = Duration::from_secs_f64(args.interval.clamp(0.2, 3600.0));
    let mut terminal = ratatui::try_init()?;
    let result = (|| -> io::Result<()> {
        let mut next_scrape = Instant::now();
        loop {
            if Instant::now() >= next_scrape {
                match scrape::scrape(&args.endpoint) {
                    Ok(samples) => model.update(&samples, Instant::now()),
                    Err(e) => model.failed(e.to_string()),
                }
                next_scrape = Instant::now() + interval;
            }
            terminal.draw(|frame| view::draw(frame, &model))?;
            let wait = next_scrape.saturating_duration_since(Instant::now());
            if event::poll(wait)? {
                if let Event::Key(key) = event::read()? {
                    if key.kind != KeyEventKind::Press {
                        continue;
                    }
                    if handle_key(&mut model, key.code, key.modifiers) {
                        return Ok(());
                    }
                }
            }
        }
    })();
    ratatui::restore();
    result.map(|()| 0)
}

/// Applies a key; whether to quit.
fn handle_key(model: &mut Model, code: KeyCode, modifiers: KeyModifiers) -> bool {
    if code == KeyCode::Char('c') && modifiers.contains(KeyModifiers::CONTROL) {
        return true;
    }
    if model.editing_filter {
        match code {
            KeyCode::Enter => model.editing_filter = false,
            KeyCode::Esc => {
                model.editing_filter = false;
                model.filter.clear();
            }
            KeyCode::Backspace => {
                model.filter.pop();
            }
            KeyCode::Char(c) => model.filter.push(c),
            _ => {}
        }
        return false;
    }
    match code {
        KeyCode::Char('q') | KeyCode::Esc => return true,
        KeyCode::Char('s') | KeyCode::Right | KeyCode::Tab => model.next_sort(1),
        KeyCode::Left | KeyCode::BackTab => model.next_sort(-1),
        KeyCode::Char('r') => model.descending = !model.descending,
        KeyCode::Char('/') => model.editing_filter = true,
        _ => {}
    }
    false
}

/// `--once`: two scrapes a second apart, then the table as text.
fn once(args: &TopArgs, model: &mut Model) -> io::Result<u8> {
    let mut stderr = io::stderr();
    for i in 0..2 {
        match scrape::scrape(&args.endpoint) {
            Ok(samples) => model.update(&samples, Instant::now()),
            Err(e) => {
                writeln!(stderr, "warden top: {e}")?;
                return Ok(1);
            }
        }
        if i == 0 {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let mut out = io::stdout().lock();
    write!(out, "{}", model::text_table(model))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_filter_and_quit() {
        let mut model = Model::new("http://x", Column::P95);
        assert!(!handle_key(
            &mut model,
            KeyCode::Char('s'),
            KeyModifiers::NONE
        ));
        assert_eq!(model.sort, Column::P99);
        handle_key(&mut model, KeyCode::Left, KeyModifiers::NONE);
        assert_eq!(model.sort, Column::P95);
        handle_key(&mut model, KeyCode::Char('/'), KeyModifiers::NONE);
        handle_key(&mut model, KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(model.filter, "q", "q types into the filter while editing");
        handle_key(&mut model, KeyCode::Enter, KeyModifiers::NONE);
        assert!(handle_key(
            &mut model,
            KeyCode::Char('q'),
            KeyModifiers::NONE
        ));
        assert!(handle_key(
            &mut model,
            KeyCode::Char('c'),
            KeyModifiers::CONTROL
        ));
    }
}
