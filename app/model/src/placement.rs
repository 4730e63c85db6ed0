//! Where a card sits on the board, and which column it may move to next.
//!
//! A card sits in the furthest stage where its SHA ever succeeded — not where it was
//! last deployed: a SHA that reached production and was later replaced there is still
//! a production card (superseded), and a failed attempt never moves a card back. A SHA
//! that reached no stage sits in **Ready** when it was marked ready, in the
//! **Commits** lane when it is one of the branch's recent commits, and nowhere
//! otherwise (an old commit nobody marked).

/// A board column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// The branch's recent commits, not marked ready.
    Commits,
    /// Marked ready, on no stage yet.
    Ready,
    /// The stage at this position (0 = the first stage).
    Stage(usize),
}

/// What placement needs to know about one SHA.
#[derive(Clone, Copy, Debug)]
pub struct CardFacts<'a> {
    /// For each stage, in promotion order: whether the SHA ever succeeded there.
    pub succeeded: &'a [bool],
    /// Whether the SHA is marked ready.
    pub marked_ready: bool,
    /// Whether the SHA is one of the branch's recent commits the board lists.
    pub recent: bool,
}

/// The column the card sits in, if it is shown at all.
pub fn place(card: CardFacts<'_>) -> Option<Column> {
    match card.succeeded.iter().rposition(|s| *s) {
        Some(stage) => Some(Column::Stage(stage)),
        None if card.marked_ready => Some(Column::Ready),
        None if card.recent => Some(Column::Commits),
        None => None,
    }
}

/// The stage a card in `column` may be promoted to next, on a board of `stages`
/// stages: the first stage from **Ready**, the following stage from a stage, nothing
/// from the Commits lane (mark it ready first) or from the last stage.
pub fn next_stage(column: Column, stages: usize) -> Option<usize> {
    let next = match column {
        Column::Commits => return None,
        Column::Ready => 0,
        Column::Stage(i) => i + 1,
    };
    (next < stages).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(succeeded: &[bool], marked_ready: bool, recent: bool) -> Option<Column> {
        place(CardFacts {
            succeeded,
            marked_ready,
            recent,
        })
    }

    #[test]
    fn a_card_sits_in_the_furthest_stage_where_it_succeeded() {
        assert_eq!(
            card(&[true, false, false], false, true),
            Some(Column::Stage(0))
        );
        assert_eq!(
            card(&[true, true, false], true, true),
            Some(Column::Stage(1))
        );
        // A success further on counts even where an earlier stage has no record (a
        // rollback target, or a stage added to the config later).
        assert_eq!(
            card(&[false, false, true], false, false),
            Some(Column::Stage(2))
        );
    }

    #[test]
    fn a_card_on_no_stage_sits_in_ready_when_marked_and_in_commits_when_recent() {
        assert_eq!(card(&[false, false], true, false), Some(Column::Ready));
        assert_eq!(card(&[false, false], true, true), Some(Column::Ready));
        assert_eq!(card(&[false, false], false, true), Some(Column::Commits));
        assert_eq!(card(&[false, false], false, false), None);
        assert_eq!(card(&[], false, true), Some(Column::Commits));
    }

    #[test]
    fn the_next_column_is_one_stage_on_and_the_commits_lane_goes_nowhere() {
        assert_eq!(next_stage(Column::Ready, 3), Some(0));
        assert_eq!(next_stage(Column::Stage(0), 3), Some(1));
        assert_eq!(next_stage(Column::Stage(2), 3), None);
        assert_eq!(next_stage(Column::Commits, 3), None);
        assert_eq!(next_stage(Column::Ready, 0), None);
    }
}
