//! Drawing the model with ratatui.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table};

use super::model::{Column, Model, ms, percent, rate};

/// Draws the whole screen.
pub(crate) fn draw(frame: &mut Frame<'_>, model: &Model) {
    let notices = model.firing.len() + model.flooding.len();
    let alerts = if notices == 0 {
        0
    } else {
        notices.min(5) as u16 + 2
    };
    let [title, alert_area, table_area, status, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(alerts),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("warden top ", Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                "{}  ·  {} operations  ·  sorted by {}{}",
                model.endpoint,
                model.rows.len(),
                model.sort.title(),
                if model.descending { " ↓" } else { " ↑" }
            )),
        ])),
        title,
    );

    if notices > 0 {
        let firing = model.firing.iter().map(|rule| {
            Line::from(Span::styled(
                format!("FIRING  {rule}"),
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            ))
        });
        let flooding = model.flooding.iter().map(|(site, per_second)| {
            Line::from(Span::styled(
                format!("FLOOD   {site}  {} suppressed/s", rate(Some(*per_second))),
                Style::default().fg(Color::Yellow),
            ))
        });
        let lines: Vec<Line<'_>> = firing.chain(flooding).take(5).collect();
        frame.render_widget(
            Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("alerts")),
            alert_area,
        );
    }

    let trend_width = 24usize;
    let header = TableRow::new(
        Column::ALL
            .iter()
            .map(|c| {
                let style = if *c == model.sort {
                    Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
                } else {
                    Style::default().add_modifier(Modifier::BOLD)
                };
                Cell::from(c.title()).style(style)
            })
            .chain([Cell::from("P95 TREND").style(Style::default().add_modifier(Modifier::BOLD))]),
    );
    let rows = model.visible().into_iter().map(|r| {
        let errors = percent(r.error_ratio);
        let error_style = if r.error_ratio.is_some_and(|e| e > 0.05) {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        };
        TableRow::new(vec![
            Cell::from(r.operation.clone()),
            Cell::from(rate(r.rate)),
            Cell::from(errors).style(error_style),
            Cell::from(ms(r.p50)),
            Cell::from(ms(r.p95)),
            Cell::from(ms(r.p99)),
            Cell::from(format!("{}", r.in_flight)),
            Cell::from(model.sparkline(&r.operation, trend_width))
                .style(Style::default().fg(Color::Cyan)),
        ])
    });
    let widths = [
        Constraint::Min(20),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(trend_width as u16),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::default().borders(Borders::TOP)),
        table_area,
    );

    let status_line = match &model.error {
        Some(error) => Line::from(Span::styled(
            format!("{error} — retrying"),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        )),
        None if model.scrapes == 0 => Line::from("waiting for the first scrape…"),
        None => Line::from(format!("{} scrapes", model.scrapes)),
    };
    frame.render_widget(Paragraph::new(status_line), status);
    let keys_line = if model.editing_filter {
        format!("filter: {}▏  (enter: keep · esc: clear)", model.filter)
    } else if model.filter.is_empty() {
        "q quit · s/→ next column · ← previous · r reverse · / filter".to_owned()
    } else {
        format!(
            "q quit · s/→ ← sort · r reverse · / filter (now: {:?})",
            model.filter
        )
    };
    frame.render_widget(
        Paragraph::new(keys_line).style(Style::default().fg(Color::DarkGray)),
        keys,
    );
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::top::scrape::parse;

    fn screen(model: &Model) -> String {
        let mut terminal = Terminal::new(TestBackend::new(110, 16)).unwrap();
        terminal.draw(|f| draw(f, model)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol().to_owned())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_screen_shows_rows_alerts_and_errors() {
        let mut model = Model::new("http://127.0.0.1:9464", Column::P95);
        let samples = parse(
            "warden_operation_calls_total{operation=\"checkout\"} 10\n\
             warden_operation_duration_seconds{operation=\"checkout\",quantile=\"0.95\"} 0.0125\n\
             warden_operation_calls_total{operation=\"login\"} 5\n\
             warden_alert_firing{rule=\"p95(checkout) > 10ms\"} 1\n",
        )
        .unwrap();
        model.update(&samples, Instant::now());
        let text = screen(&model);
        assert!(text.contains("FIRING  p95(checkout) > 10ms"), "{text}");
        assert!(
            text.contains("checkout") && text.contains("12.50"),
            "{text}"
        );
        assert!(
            text.find("checkout").unwrap() < text.rfind("login").unwrap(),
            "{text}"
        );
        model.failed("cannot reach http://127.0.0.1:9464: Connection refused".into());
        let text = screen(&model);
        assert!(text.contains("Connection refused — retrying"), "{text}");
        assert!(text.contains("checkout"), "the table stays: {text}");
    }
}
