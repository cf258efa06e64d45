//! The home screen's list of services, cut into pages that fit the reachable part of
//! the screen.
//!
//! The UI measures the room between the reach line (1220 mm above the floor) and the
//! controls below the list, and reports it with the height of each kind of row; this
//! module decides what goes on each page. Services come grouped by agency, each group under its heading; a page that
//! cannot hold the rest ends with "More services (N)", so nothing is ever cut off.

use crate::catalogue::Agency;

/// One row of the home screen's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeRow {
    /// The name of the agency whose services follow.
    Heading(Agency),
    /// The service at this index of the list given to [`pages`].
    Service(usize),
    /// "More services": `others` services are on the other pages.
    More {
        /// How many services this page does not show.
        others: usize,
    },
}

/// The room the UI measured for the list, and the height of each kind of row, in the
/// same unit (logical pixels). Rows are `gap` apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Room {
    /// Height of the reachable part of the list's area.
    pub available: f32,
    /// An agency's heading.
    pub heading: f32,
    /// A service's tile.
    pub service: f32,
    /// The "More services" button.
    pub more: f32,
    /// Space between rows.
    pub gap: f32,
}

impl Room {
    fn height(&self, rows: &[HomeRow]) -> f32 {
        let sum: f32 = rows
            .iter()
            .map(|r| match r {
                HomeRow::Heading(_) => self.heading,
                HomeRow::Service(_) => self.service,
                HomeRow::More { .. } => self.more,
            })
            .sum();
        sum + self.gap * rows.len().saturating_sub(1) as f32
    }
}

/// Cuts `agencies` (the agency of each service, grouped) into pages that fit `room`.
/// Every service appears on exactly one page; when there is more than one page, each
/// ends with "More", the last leading back to the first. A page holds at least one
/// service even when the room is too small for it (the layout test then fails loudly).
pub fn pages(agencies: &[Agency], room: &Room) -> Vec<Vec<HomeRow>> {
    let total = agencies.len();
    let all = fill(agencies, 0..total);
    if room.height(&all) <= room.available {
        return vec![all];
    }
    let more = HomeRow::More { others: 0 };
    let mut pages = Vec::new();
    let mut start = 0;
    while start < total {
        let mut end = start + 1;
        while end < total {
            let mut candidate = fill(agencies, start..end + 1);
            candidate.push(more);
            if room.height(&candidate) > room.available {
                break;
            }
            end += 1;
        }
        let mut page = fill(agencies, start..end);
        page.push(HomeRow::More {
            others: total - (end - start),
        });
        pages.push(page);
        start = end;
    }
    pages
}

/// The services `range` under their agencies' headings.
fn fill(agencies: &[Agency], range: std::ops::Range<usize>) -> Vec<HomeRow> {
    let mut rows = Vec::new();
    let mut heading = None;
    for index in range {
        if heading != Some(agencies[index]) {
            heading = Some(agencies[index]);
            rows.push(HomeRow::Heading(agencies[index]));
        }
        rows.push(HomeRow::Service(index));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use Agency::{Cpi, Inps};

    const ELEVEN: [Agency; 11] = [Inps, Inps, Inps, Inps, Inps, Cpi, Cpi, Cpi, Cpi, Cpi, Cpi];

    fn room(available: f32) -> Room {
        Room {
            available,
            heading: 10.0,
            service: 20.0,
            more: 15.0,
            gap: 2.0,
        }
    }

    fn services_on(page: &[HomeRow]) -> Vec<usize> {
        page.iter()
            .filter_map(|r| match r {
                HomeRow::Service(i) => Some(*i),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn everything_on_one_page_when_it_fits() {
        // 2 headings, 3 services, 4 gaps: 10 + 20 + 20 + 10 + 20 + 8 = 88.
        let pages = pages(&[Inps, Inps, Cpi], &room(88.0));
        assert_eq!(
            pages,
            vec![vec![
                HomeRow::Heading(Inps),
                HomeRow::Service(0),
                HomeRow::Service(1),
                HomeRow::Heading(Cpi),
                HomeRow::Service(2),
            ]]
        );
    }

    #[test]
    fn every_service_once_every_page_within_its_room_and_a_way_on() {
        for available in (0..400).step_by(7) {
            let room = room(available as f32);
            let pages = pages(&ELEVEN, &room);
            let mut seen: Vec<usize> = pages.iter().flat_map(|p| services_on(p)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..ELEVEN.len()).collect::<Vec<_>>(), "{available}");
            for page in &pages {
                assert!(
                    room.height(page) <= room.available || services_on(page).len() == 1,
                    "{available}: {page:?} is {} high",
                    room.height(page)
                );
                // Each page starts with the heading of its first service's agency.
                let Some(HomeRow::Heading(a)) = page.first() else {
                    panic!("{available}: no heading first: {page:?}")
                };
                assert_eq!(*a, ELEVEN[services_on(page)[0]]);
                if pages.len() > 1 {
                    assert_eq!(
                        page.last(),
                        Some(&HomeRow::More {
                            others: ELEVEN.len() - services_on(page).len()
                        }),
                        "{available}: every page of several leads on"
                    );
                }
            }
        }
    }

    #[test]
    fn the_eleven_services_in_two_pages() {
        // Page 1: heading, 5 services, More = 10 + 100 + 15 + 6 gaps = 137; one more
        // service needs its heading too (+34). Page 2: heading, 6 services, More = 159.
        let pages = pages(&ELEVEN, &room(170.0));
        assert_eq!(pages.len(), 2);
        assert_eq!(services_on(&pages[0]), vec![0, 1, 2, 3, 4]);
        assert_eq!(pages[0].last(), Some(&HomeRow::More { others: 6 }));
        assert_eq!(services_on(&pages[1]), vec![5, 6, 7, 8, 9, 10]);
        assert_eq!(pages[1].last(), Some(&HomeRow::More { others: 5 }));
        assert_eq!(super::pages(&ELEVEN, &room(140.0)).len(), 3);
    }
}
