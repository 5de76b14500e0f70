//! Which thresholds apply. Sources are applied in order, guest < catalog <
//! cli: a threshold replaces every threshold of an earlier source on the
//! same metric and aggregation (`--threshold 'svc:get:p(99) < 2ms'`
//! replaces the catalog's `p(99) < 1ms` on `get`, not its `avg < 1ms`).
//! Thresholds of one source never replace each other, so two make a range
//! (`p(99) > 10us` and `p(99) < 1ms`). The final verdicts and the
//! `abort-on-fail` watch both ask here.

use std::collections::HashMap;

use super::{Aggregation, Judged, ThresholdSource};

/// For each threshold, given as (metric, aggregation, source) in any order:
/// `None` when a later source replaces it, otherwise the indices of the
/// thresholds it replaces (every threshold of an earlier source on its
/// metric and aggregation, in the order given).
pub fn effective<'a>(
    keys: impl IntoIterator<Item = (&'a str, Aggregation, ThresholdSource)>,
) -> Vec<Option<Vec<usize>>> {
    // The canonical text of an aggregation is its identity (`p(99)`), and
    // unlike an `f64` inside it, it hashes.
    let keys: Vec<((&str, String), ThresholdSource)> = keys
        .into_iter()
        .map(|(metric, aggregation, source)| ((metric, aggregation.to_string()), source))
        .collect();
    let mut latest: HashMap<&(&str, String), ThresholdSource> = HashMap::new();
    for (key, source) in &keys {
        latest
            .entry(key)
            .and_modify(|s| *s = (*s).max(*source))
            .or_insert(*source);
    }
    let mut replaced: HashMap<&(&str, String), Vec<usize>> = HashMap::new();
    for (i, (key, source)) in keys.iter().enumerate() {
        if *source < latest[key] {
            replaced.entry(key).or_default().push(i);
        }
    }
    keys.iter()
        .map(|(key, source)| {
            (*source == latest[key]).then(|| replaced.get(key).cloned().unwrap_or_default())
        })
        .collect()
}

/// The thresholds of `judged` that apply, in the order given, each with
/// the indices into `judged` of those it replaced.
pub fn apply(judged: &[Judged]) -> Vec<(usize, Vec<usize>)> {
    effective(
        judged
            .iter()
            .map(|j| (j.metric.as_str(), j.expression.aggregation, j.source)),
    )
    .into_iter()
    .enumerate()
    .filter_map(|(i, replaces)| replaces.map(|r| (i, r)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Recorder, Unit};
    use crate::thresholds::{Expression, judge, parse};

    fn judged(items: &[(&str, &str, ThresholdSource)]) -> Vec<Judged> {
        let mut r = Recorder::new();
        let h = r.histogram("get", Unit::Nanoseconds).unwrap();
        r.record(h, 1_000);
        items
            .iter()
            .map(|(metric, text, source)| judge(&r, metric, &parse(text).unwrap(), *source))
            .collect()
    }

    fn shown(all: &[Judged]) -> Vec<(String, Vec<String>)> {
        apply(all)
            .into_iter()
            .map(|(i, replaces)| {
                let name = |j: &Judged| format!("{} [{}]", j.expression, j.source.as_str());
                (
                    name(&all[i]),
                    replaces.into_iter().map(|r| name(&all[r])).collect(),
                )
            })
            .collect()
    }

    use ThresholdSource::{Catalog, Cli, Guest};

    #[test]
    fn a_later_source_replaces_earlier_ones_on_the_same_metric_and_aggregation() {
        let all = judged(&[
            ("get", "p(99) < 1us", Guest),
            ("get", "avg < 1s", Guest),
            ("get", "p(99) < 10ms", Catalog),
            ("get", "p(99) > 1us", Catalog),
            ("other", "p(99) < 1us", Catalog),
            ("get", "p(99) < 2ms", Cli),
        ]);
        assert_eq!(
            shown(&all),
            vec![
                ("avg < 1s [scenario]".into(), vec![]),
                ("p(99) < 1us [catalog]".into(), vec![]),
                (
                    "p(99) < 2ms [cli]".into(),
                    vec![
                        "p(99) < 1us [scenario]".into(),
                        "p(99) < 10ms [catalog]".into(),
                        "p(99) > 1us [catalog]".into(),
                    ]
                ),
            ]
        );
    }

    #[test]
    fn one_sources_thresholds_make_a_range_and_both_replace_the_earlier_one() {
        let all = judged(&[
            ("get", "p(99) < 1s", Guest),
            ("get", "p(99) > 1us", Catalog),
            ("get", "p(99) < 5ms", Catalog),
            ("get", "med < 1s", Catalog),
        ]);
        assert_eq!(
            shown(&all),
            vec![
                (
                    "p(99) > 1us [catalog]".into(),
                    vec!["p(99) < 1s [scenario]".into()]
                ),
                (
                    "p(99) < 5ms [catalog]".into(),
                    vec!["p(99) < 1s [scenario]".into()]
                ),
                // `med` is not `p(50)`, nor any other aggregation.
                ("med < 1s [catalog]".into(), vec![]),
            ]
        );
    }

    #[test]
    fn order_does_not_matter_only_the_source() {
        let p99 = parse("p(99) < 1ms").unwrap();
        let p999 = parse("p(99.9) < 1ms").unwrap();
        let keys = |items: &[(&Expression, ThresholdSource)]| {
            effective(items.iter().map(|(e, s)| ("get", e.aggregation, *s)))
        };
        assert_eq!(
            keys(&[(&p99, Cli), (&p99, Guest), (&p999, Guest)]),
            vec![Some(vec![1]), None, Some(vec![])]
        );
    }
}
