"""Mistral Workflow Language v2: parsing and validation.

``parse_workflows`` / ``parse_workbook`` / ``parse_actions`` turn YAML text into
the immutable spec objects of :mod:`levante.lang.spec`; ``validate`` lists
every problem of a document; ``parse_inline`` splits Mistral's one-line
``name key=value ...`` syntax.
"""
from .errors import DSLError, DSLErrors
from .inline import is_expression, parse_inline, parse_params
from .parser import parse_actions, parse_workbook, parse_workflows
from .spec import (
    ENGINE_COMMANDS,
    MISSING,
    ActionSpec,
    InputParam,
    OnClause,
    RetryPolicy,
    TaskSpec,
    Transition,
    WithItems,
    WorkbookSpec,
    WorkflowSpec,
)
from .validate import validate

__all__ = [
    "DSLError", "DSLErrors", "parse_workflows", "parse_workbook", "parse_actions",
    "parse_inline", "parse_params", "is_expression", "validate",
    "ENGINE_COMMANDS", "MISSING", "ActionSpec", "InputParam", "OnClause", "RetryPolicy",
    "TaskSpec", "Transition", "WithItems", "WorkbookSpec", "WorkflowSpec",
]
