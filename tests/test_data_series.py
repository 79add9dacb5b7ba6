import pytest
import torch

from rnn_tui.data.series import read_series
from rnn_tui.errors import RnnTuiError


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text(
        'date,"store, name",units,price\n'
        '2024-01-01,"Main St, 5",10,1.5\n'
        "2024-01-02,Harbor,12,2.5\n"
        "\n"
        '2024-01-03,"Quoted ""x""",9,3.0\n',
        encoding="utf-8",
    )
    return path


def test_default_is_last_numeric_column(csv_file):
    s = read_series(csv_file)
    assert s.name == "price" and s.values.dtype == torch.float32
    assert s.values.tolist() == [1.5, 2.5, 3.0]


def test_column_by_name_and_index(csv_file):
    assert read_series(csv_file, column="units").values.tolist() == [10, 12, 9]
    assert read_series(csv_file, column=2).values.tolist() == [10, 12, 9]
    assert read_series(csv_file, column="2").name == "units"


def test_missing_column_lists_columns(csv_file):
    with pytest.raises(RnnTuiError, match="columns are: date, store, name, units, price"):
        read_series(csv_file, column="revenue")


def test_non_numeric_value_names_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("t,value\n1,0.5\n2,oops\n", encoding="utf-8")
    with pytest.raises(RnnTuiError, match=r"line 3, column 'value': 'oops' is not a number"):
        read_series(path)
    dates = tmp_path / "dates.csv"
    dates.write_text("date,v\n2024-01-01,1\n", encoding="utf-8")
    with pytest.raises(RnnTuiError, match="line 2, column 'date'"):
        read_series(dates, column="date")


def test_headerless_numbers_and_bom_crlf(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_bytes("\ufeff1\r\n2\r\n4\r\n".encode("utf-8"))
    s = read_series(path)
    assert s.values.tolist() == [1, 2, 4] and s.name == "plain"

