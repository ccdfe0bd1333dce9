"""The review grid's bookkeeping: moving, scrolling, selecting and visual ranges."""
from __future__ import annotations

from tui.grid_state import GridState


def grid(count: int = 23, columns: int = 5, rows: int = 2) -> GridState:
    state = GridState()
    state.resize(columns, rows)
    state.reset(list(range(100, 100 + count)))
    return state


def test_moves_wrap_rows_clamp_at_the_ends_and_scroll_to_follow() -> None:
    state = grid()
    state.move(columns=-1)
    assert state.cursor == 0
    state.move(columns=5)
    assert state.cursor == 5
    state.move(rows=-3)
    assert state.cursor == 5                  # no row above: stays
    state.move(rows=1)
    assert (state.cursor, state.top) == (10, 1)
    state.page(5)
    assert state.cursor == 22 and state.top == 3 and list(state.visible) == [15, 16, 17, 18,
                                                                             19, 20, 21, 22]
    state.to(0)
    assert state.top == 0


def test_space_and_visual_mode_choose_in_grid_order() -> None:
    state = grid()
    assert state.chosen() == [100]            # nothing selected: the cursor's face
    state.to(7)
    state.toggle()
    state.to(2)
    state.visual()
    state.move(columns=2)
    assert state.chosen() == [102, 103, 104, 107]
    state.clear()                             # leaves visual mode, keeps the toggled face
    assert state.chosen() == [107]
    state.visual()
    state.move(columns=1)
    state.visual()                            # keeps the range
    assert state.chosen() == [104, 105, 107]
    state.clear()
    assert state.chosen() == [105]


def test_reset_keeps_the_cursor_on_its_face_and_drops_vanished_selections() -> None:
    state = grid()
    state.to(12)
    state.toggle()
    state.selected.add(101)
    state.reset([105, 112, 130], keep=112)
    assert state.current == 112 and state.selected == {112}
    state.reset([], keep=112)
    assert state.current is None and state.chosen() == []



def test_unselect_all_leaves_visual_mode_and_the_selection_at_once() -> None:
    state = grid()
    state.toggle()
    state.to(3)
    state.visual()
    state.move(columns=1)
    assert state.chosen() == [100, 103, 104]
    state.unselect_all()
    assert (state.anchor, state.selected, state.chosen()) == (None, set(), [104])
