"""Pure maths: each forward beside its backward, formulas and shapes in the docstrings."""
