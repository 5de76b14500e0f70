//! Leak statistics over a memory series: an ordinary least-squares slope
//! with its 95 % confidence interval (Student's t, n − 2 degrees of freedom)
//! and R², and the Mann–Kendall monotonic-trend test (normal approximation
//! with the tie correction of Kendall 1975; one-sided, for growth).
//!
//! A leak is declared only when both agree: the trend is significant *and*
//! the lower bound of the slope's confidence interval is above the
//! threshold. The threshold gate keeps a clean process whose RSS creeps up
//! by a few pages (allocator arenas, lazily touched pages) from being
//! flagged; the trend test keeps a single jump (a cache filled once) from
//! being read as steady growth.

/// Fewest samples for a verdict. Mann–Kendall needs 4 strictly increasing
/// points to reach one-sided p < 0.05 at all; one more keeps a single
/// outlier from deciding it.
pub const MIN_SAMPLES: usize = 5;

/// A straight-line fit `y = intercept + slope · x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub slope: f64,
    pub intercept: f64,
    /// 95 % confidence interval of the slope.
    pub ci_low: f64,
    pub ci_high: f64,
    /// Share of the variance the line explains, 0..=1.
    pub r_squared: f64,
    pub n: usize,
}

/// Two-sided 95 % quantiles of Student's t by degrees of freedom; between
/// rows the smaller df (the wider interval) is used.
const T95: [(usize, f64); 34] = [
    (1, 12.706),
    (2, 4.303),
    (3, 3.182),
    (4, 2.776),
    (5, 2.571),
    (6, 2.447),
    (7, 2.365),
    (8, 2.306),
    (9, 2.262),
    (10, 2.228),
    (11, 2.201),
    (12, 2.179),
    (13, 2.160),
    (14, 2.145),
    (15, 2.131),
    (16, 2.120),
    (17, 2.110),
    (18, 2.101),
    (19, 2.093),
    (20, 2.086),
    (21, 2.080),
    (22, 2.074),
    (23, 2.069),
    (24, 2.064),
    (25, 2.060),
    (26, 2.056),
    (27, 2.052),
    (28, 2.048),
    (29, 2.045),
    (30, 2.042),
    (40, 2.021),
    (60, 2.000),
    (120, 1.980),
    (usize::MAX, 1.960),
];

/// The t quantile for `df` degrees of freedom (95 %, two-sided).
pub fn t95(df: usize) -> f64 {
    let mut t = T95[0].1;
    for &(d, v) in &T95 {
        if d > df {
            break;
        }
        t = v;
    }
    t
}

/// Least-squares fit of `ys` on `xs`; `None` with fewer than 3 points or
/// when every x is the same.
pub fn fit(xs: &[f64], ys: &[f64]) -> Option<Fit> {
    let n = xs.len().min(ys.len());
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let mx = xs[..n].iter().sum::<f64>() / nf;
    let my = ys[..n].iter().sum::<f64>() / nf;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (xs[i] - mx, ys[i] - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse = (syy - slope * sxy).max(0.0);
    let se = (sse / (nf - 2.0) / sxx).sqrt();
    let half = t95(n - 2) * se;
    let r_squared = if syy > 0.0 {
        (1.0 - sse / syy).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Some(Fit {
        slope,
        intercept,
        ci_low: slope - half,
        ci_high: slope + half,
        r_squared,
        n,
    })
}

/// The Mann–Kendall statistic and its one-sided p-value for an increasing trend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    pub s: i64,
    pub z: f64,
    /// P(S this large | no trend): small means significant growth.
    pub p_increasing: f64,
}

/// Mann–Kendall over `ys` in time order (O(n²); callers bound n).
pub fn mann_kendall(ys: &[f64]) -> MannKendall {
    let n = ys.len();
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += match ys[j].partial_cmp(&ys[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    // Tie groups reduce the variance of S.
    let mut sorted: Vec<f64> = ys.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        if t > 1.0 {
            ties += t * (t - 1.0) * (2.0 * t + 5.0);
        }
        i = j;
    }
    let nf = n as f64;
    let var = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if var <= 0.0 {
        0.0
    } else if s > 0 {
        (s as f64 - 1.0) / var.sqrt()
    } else if s < 0 {
        (s as f64 + 1.0) / var.sqrt()
    } else {
        0.0
    };
    MannKendall {
        s,
        z,
        p_increasing: 0.5 * erfc(z / std::f64::consts::SQRT_2),
    }
}

/// Complementary error function (Numerical Recipes `erfcc`, |error| < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_line_has_a_tight_interval() {
        let xs: Vec<f64> = (0..6).map(|i| (i * 1000) as f64).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 50e6 + 10_240.0 * x).collect();
        let f = fit(&xs, &ys).unwrap();
        assert!((f.slope - 10_240.0).abs() < 1e-6);
        assert!((f.ci_low - 10_240.0).abs() < 1e-3);
        assert!((f.r_squared - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_interval_matches_a_textbook_example() {
        // y = 2x + noise; slope, SE and t(3) worked out by hand:
        // sxx = 10, sxy = 19.6, syy = 38.5, slope = 1.96, sse = 0.084.
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        let ys = [2.2, 3.8, 6.1, 8.0, 9.9];
        let f = fit(&xs, &ys).unwrap();
        assert!((f.slope - 1.96).abs() < 1e-9, "{f:?}");
        let se = (0.084f64 / 3.0 / 10.0).sqrt();
        assert!((f.ci_low - (1.96 - 3.182 * se)).abs() < 1e-6, "{f:?}");
        assert!(f.r_squared > 0.99);
    }

    #[test]
    fn mann_kendall_agrees_with_reference_values() {
        // n = 6 strictly increasing: S = 15, var = 28.333, z = 2.630,
        // one-sided p = 0.00427 (pymannkendall gives the same).
        let mk = mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(mk.s, 15);
        assert!((mk.z - 2.6301).abs() < 1e-3, "{mk:?}");
        assert!((mk.p_increasing - 0.00427).abs() < 1e-4, "{mk:?}");
        // A flat series is no trend at all.
        let flat = mann_kendall(&[5.0; 10]);
        assert_eq!(flat.s, 0);
        assert!((flat.p_increasing - 0.5).abs() < 1e-6);
        // Three points can never be significant at 5 %; five can.
        assert!(mann_kendall(&[1.0, 2.0, 3.0]).p_increasing > 0.05);
        assert!(mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0]).p_increasing < 0.05);
    }

    #[test]
    fn erfc_is_accurate() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-6);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-6);
    }

    #[test]
    fn t_quantiles_are_conservative_between_rows() {
        assert_eq!(t95(4), 2.776);
        assert_eq!(t95(35), 2.042);
        assert_eq!(t95(10_000), 1.980);
        assert_eq!(t95(usize::MAX), 1.960);
    }
}
