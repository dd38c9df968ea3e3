//! Clipping to a tile's square (plus buffer), before snapping.
//!
//! Rings are clipped with Sutherland–Hodgman, lines with Liang–Barsky: both linear in the
//! number of vertices, which matters because every (feature, tile) pair goes through here. A
//! concave ring clipped this way can come out with zero-width spikes along the square's edge;
//! they are not a problem: the encoder rebuilds every polygon on the integer grid afterwards
//! (non-zero fill), where such spikes cancel out.

use geo::{Coord, Rect};

/// Whether `c` is inside `r` (edges included).
fn inside(c: Coord<f64>, r: &Rect<f64>) -> bool {
    c.x >= r.min().x && c.x <= r.max().x && c.y >= r.min().y && c.y <= r.max().y
}

/// Whether `inner` lies entirely within `outer`.
pub fn contains(outer: &Rect<f64>, inner: &Rect<f64>) -> bool {
    inside(inner.min(), outer) && inside(inner.max(), outer)
}

/// A closed ring (first point repeated last, or not) clipped to `r`; the result is open
/// (no repeated closing point) and empty when nothing is left.
pub fn clip_ring(ring: &[Coord<f64>], r: &Rect<f64>) -> Vec<Coord<f64>> {
    let mut pts: Vec<Coord<f64>> = ring.to_vec();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    // One pass per side of the square: west, east, north, south (y down).
    let (x0, y0, x1, y1) = (r.min().x, r.min().y, r.max().x, r.max().y);
    for side in 0..4 {
        if pts.is_empty() {
            break;
        }
        let keep = |c: Coord<f64>| match side {
            0 => c.x >= x0,
            1 => c.x <= x1,
            2 => c.y >= y0,
            _ => c.y <= y1,
        };
        let cross = |a: Coord<f64>, b: Coord<f64>| match side {
            0 | 1 => {
                let x = if side == 0 { x0 } else { x1 };
                let t = (x - a.x) / (b.x - a.x);
                geo::coord! { x: x, y: a.y + t * (b.y - a.y) }
            }
            _ => {
                let y = if side == 2 { y0 } else { y1 };
                let t = (y - a.y) / (b.y - a.y);
                geo::coord! { x: a.x + t * (b.x - a.x), y: y }
            }
        };
        let mut out = Vec::with_capacity(pts.len() + 4);
        let mut prev = pts[pts.len() - 1];
        let mut prev_in = keep(prev);
        for &cur in &pts {
            let cur_in = keep(cur);
            if cur_in != prev_in {
                out.push(cross(prev, cur));
            }
            if cur_in {
                out.push(cur);
            }
            prev = cur;
            prev_in = cur_in;
        }
        pts = out;
    }
    pts
}

/// A line clipped to `r`: the parts of it inside, in order.
pub fn clip_line(line: &[Coord<f64>], r: &Rect<f64>) -> Vec<Vec<Coord<f64>>> {
    let mut parts: Vec<Vec<Coord<f64>>> = Vec::new();
    let mut current: Vec<Coord<f64>> = Vec::new();
    for w in line.windows(2) {
        let (p, q) = (w[0], w[1]);
        match segment(p, q, r) {
            Some((t0, t1)) => {
                let at =
                    |t: f64| geo::coord! { x: p.x + t * (q.x - p.x), y: p.y + t * (q.y - p.y) };
                let (a, b) = (
                    if t0 > 0.0 { at(t0) } else { p },
                    if t1 < 1.0 { at(t1) } else { q },
                );
                if current.is_empty() || t0 > 0.0 {
                    if current.len() > 1 {
                        parts.push(std::mem::take(&mut current));
                    }
                    current.clear();
                    current.push(a);
                }
                current.push(b);
                if t1 < 1.0 {
                    parts.push(std::mem::take(&mut current));
                }
            }
            None => {
                if current.len() > 1 {
                    parts.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if current.len() > 1 {
        parts.push(current);
    }
    parts
}

/// Liang–Barsky: the part [t0, t1] of segment p→q inside `r`, if any.
fn segment(p: Coord<f64>, q: Coord<f64>, r: &Rect<f64>) -> Option<(f64, f64)> {
    let (dx, dy) = (q.x - p.x, q.y - p.y);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (denom, num) in [
        (-dx, p.x - r.min().x),
        (dx, r.max().x - p.x),
        (-dy, p.y - r.min().y),
        (dy, r.max().y - p.y),
    ] {
        if denom == 0.0 {
            if num < 0.0 {
                return None;
            }
        } else {
            let t = num / denom;
            if denom < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then_some((t0, t1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::coord;

    fn square() -> Rect<f64> {
        Rect::new(coord! { x: 0.0, y: 0.0 }, coord! { x: 10.0, y: 10.0 })
    }

    fn area(ring: &[Coord<f64>]) -> f64 {
        let n = ring.len();
        (0..n)
            .map(|i| {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                a.x * b.y - b.x * a.y
            })
            .sum::<f64>()
            / 2.0
    }

    #[test]
    fn rings_are_cut_to_the_square_keeping_their_turn() {
        // A square straddling the corner: a quarter is inside.
        let ring = [
            coord! { x: 5.0, y: 5.0 },
            coord! { x: 15.0, y: 5.0 },
            coord! { x: 15.0, y: 15.0 },
            coord! { x: 5.0, y: 15.0 },
            coord! { x: 5.0, y: 5.0 },
        ];
        let out = clip_ring(&ring, &square());
        assert_eq!(area(&out), 25.0);
        let reversed: Vec<Coord<f64>> = ring.iter().rev().copied().collect();
        assert_eq!(area(&clip_ring(&reversed, &square())), -25.0);
        // Wholly outside: nothing; wholly inside: unchanged.
        let far: Vec<Coord<f64>> = ring
            .iter()
            .map(|c| coord! { x: c.x + 50.0, y: c.y })
            .collect();
        assert!(clip_ring(&far, &square()).is_empty());
        let small: Vec<Coord<f64>> = ring
            .iter()
            .map(|c| coord! { x: c.x / 5.0, y: c.y / 5.0 })
            .collect();
        assert_eq!(clip_ring(&small, &square()), small[..4].to_vec());
        // A square around the clip square comes out as the clip square.
        let big: Vec<Coord<f64>> = ring
            .iter()
            .map(|c| coord! { x: c.x * 4.0 - 30.0, y: c.y * 4.0 - 30.0 })
            .collect();
        assert_eq!(area(&clip_ring(&big, &square())), 100.0);
    }

    #[test]
    fn lines_leave_and_come_back_as_separate_parts() {
        // In, out through the right side, back in, and ending inside.
        let line = [
            coord! { x: 2.0, y: 2.0 },
            coord! { x: 8.0, y: 2.0 },
            coord! { x: 14.0, y: 2.0 },
            coord! { x: 14.0, y: 8.0 },
            coord! { x: 6.0, y: 8.0 },
        ];
        let parts = clip_line(&line, &square());
        assert_eq!(
            parts,
            vec![
                vec![
                    coord! { x: 2.0, y: 2.0 },
                    coord! { x: 8.0, y: 2.0 },
                    coord! { x: 10.0, y: 2.0 }
                ],
                vec![coord! { x: 10.0, y: 8.0 }, coord! { x: 6.0, y: 8.0 }],
            ]
        );
        // Crossing the square without a vertex inside.
        let across = [coord! { x: -5.0, y: 5.0 }, coord! { x: 15.0, y: 5.0 }];
        assert_eq!(
            clip_line(&across, &square()),
            vec![vec![coord! { x: 0.0, y: 5.0 }, coord! { x: 10.0, y: 5.0 }]]
        );
        assert!(clip_line(
            &[coord! { x: 20.0, y: 0.0 }, coord! { x: 30.0, y: 5.0 }],
            &square()
        )
        .is_empty());
        assert!(contains(
            &square(),
            &Rect::new(coord! { x: 1.0, y: 1.0 }, coord! { x: 10.0, y: 2.0 })
        ));
    }
}
