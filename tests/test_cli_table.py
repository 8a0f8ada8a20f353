"""The CLI's tables: columns aligned by display width (a CJK character takes two columns)."""

from __future__ import annotations

from parcelwatch.cli.table import display_width, table_lines


def test_cjk_columns_line_up() -> None:
    """Hand-computed: 乡镇 is 4 columns, 禾丰镇 6, so column 1 is 6 wide; 问题数 is 6 wide."""
    lines = table_lines(["乡镇", "问题数"], [["禾丰镇", 3], ["a", 10]])
    assert lines == [
        "乡镇    问题数",
        "------  ------",
        "禾丰镇  3",
        "a       10",
    ]


def test_combining_marks_take_no_column() -> None:
    """e + U+0301 (combining acute) is one column: the old width rule counted two."""
    assert display_width("e\u0301") == 1
    assert table_lines(["名", "x"], [["e\u0301", 1]])[2] == "e\u0301   1"


def test_long_cells_are_clipped_by_columns_and_control_text_removed() -> None:
    """max_width 8: 禾丰镇人民政府 (14 columns) -> 5 columns of text (禾丰 = 4, the half 镇
    does not fit) + '...'; an escape sequence in a value is not passed to the terminal."""
    lines = table_lines(["单位"], [["禾丰镇人民政府"], ["\x1b[31m红\x1b[0m\t字"]], max_width=8)
    assert lines[2] == "禾丰..."
    assert lines[3] == "红 字"
    assert all("\x1b" not in line for line in lines)
