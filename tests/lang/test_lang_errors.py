import pytest

from levante.lang import DSLError, DSLErrors


def test_dsl_error_str():
    e = DSLError("Task 'missing_task' not found.", 7, 9)
    assert str(e) == "line 7, column 9: Task 'missing_task' not found."
    assert (e.message, e.line, e.column) == ("Task 'missing_task' not found.", 7, 9)
    assert str(DSLError("oops")) == "oops"
    assert str(DSLError("oops", 3)) == "line 3: oops"
    assert isinstance(e, Exception)


def test_dsl_errors():
    errs = DSLErrors([DSLError("a", 1, 2), DSLError("b", 3, 4)])
    assert isinstance(errs, DSLError)
    assert (errs.message, errs.line, errs.column) == ("a", 1, 2)
    assert str(errs) == "line 1, column 2: a\nline 3, column 4: b"
    assert len(errs.errors) == 2
    assert errs.errors[1].to_dict() == {"message": "b", "line": 3, "column": 4}


def test_dsl_errors_needs_errors():
    with pytest.raises(ValueError):
        DSLErrors([])
