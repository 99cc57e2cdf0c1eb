//! The short human summary on standard output. It must fit the Run Command console (2,500
//! characters by default): counts and compliance first, then the most severe non-compliant
//! packages for as long as they fit, then where the full report is.

use std::fmt::Write;

use super::Report;
use crate::model::PatchState;

/// Render the summary in at most `limit` characters. `report_path` is where the full report was
/// written, if anywhere.
pub fn console_summary(report: &Report, report_path: Option<&str>, limit: usize) -> String {
    let s = &report.summary;
    let mut head = String::new();
    let _ = writeln!(
        head,
        "patchbaseline {} {}: {} ({}) on {}",
        report.tool.version,
        report.operation_word(),
        report.operating_system,
        report.product,
        report.root
    );
    let _ = writeln!(
        head,
        "Baseline: {} ({})",
        report
            .baseline
            .name
            .as_deref()
            .or(report.baseline.id.as_deref())
            .unwrap_or("unnamed"),
        report.baseline.source
    );
    let _ = writeln!(
        head,
        "Compliance: {}{}",
        s.compliance,
        s.non_compliant_severity
            .map(|l| format!(" (severity {l})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        head,
        "Installed {}, InstalledOther {}, InstalledPendingReboot {}, InstalledRejected {}, Missing {}, Failed {}, NotApplicable {}",
        s.installed_count,
        s.installed_other_count,
        s.installed_pending_reboot_count,
        s.installed_rejected_count,
        s.missing_count,
        s.failed_count,
        s.not_applicable_count
    );

    let mut tail = String::new();
    if report.interrupted {
        let _ = writeln!(tail, "Interrupted: the operation was stopped by a signal.");
    }
    for e in report.errors.iter().take(3) {
        let _ = writeln!(tail, "Error: {}", first_line(e, 300));
    }
    let reboot = &report.reboot;
    if reboot.required {
        let _ = writeln!(
            tail,
            "Reboot: required ({}); action: {}",
            first_line(&reboot.reasons.join("; "), 300),
            reboot.action
        );
    } else {
        let _ = writeln!(tail, "Reboot: not required");
    }
    match report_path {
        Some(p) => {
            let _ = writeln!(tail, "Full report: {p}");
        }
        None => {
            let _ = writeln!(tail, "Full report: not written (use --report FILE)");
        }
    }

    let budget = limit.saturating_sub(head.len() + tail.len());
    let items = report.non_compliant_by_severity();
    let mut body = String::new();
    if !items.is_empty() {
        let title = "Non-compliant, most severe first:\n";
        if title.len() < budget {
            body.push_str(title);
        }
        for (shown, p) in items.iter().enumerate() {
            let mut line = format!("  {:<22} {}", p.state.as_str(), p.id);
            match (&p.installed_version, &p.target_version) {
                (Some(i), Some(t)) if p.state != PatchState::InstalledRejected => {
                    let _ = write!(line, " {i} -> {t}");
                }
                (Some(i), _) => {
                    let _ = write!(line, " {i}");
                }
                _ => {}
            }
            let attrs: Vec<&str> = [p.classification.as_deref(), p.severity.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !attrs.is_empty() {
                let _ = write!(line, " [{}]", attrs.join("/"));
            }
            if let Some(a) = p.advisories.first() {
                let _ = write!(line, " {a}");
            }
            line.push('\n');
            let remaining = items.len() - shown;
            let more = format!("  … and {remaining} more in the full report\n");
            if body.len() + line.len() + more.len() > budget {
                if body.len() + more.len() <= budget {
                    body.push_str(&more);
                }
                break;
            }
            body.push_str(&line);
        }
    }
    let mut out = head;
    out.push_str(&body);
    out.push_str(&tail);
    if out.chars().count() > limit {
        // Only a pathological header (a huge root path) gets here; cut on a character boundary.
        out = out.chars().take(limit.saturating_sub(1)).collect();
        out.push('\n');
    }
    out
}

fn first_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let mut t: String = line.chars().take(max).collect();
        t.push('…');
        t
    }
}

impl Report {
    fn operation_word(&self) -> &'static str {
        match self.operation {
            super::Operation::Scan => "Scan",
            super::Operation::Install => "Install",
        }
    }
}
