"""The project: from a Recommendation to files on disk.

Owns choosing the stack and its layers (`stacks`), the render context with its derived facts
(`context`), rendering the Jinja templates (`render`), building, formatting and checking the
files (`generate`), writing them atomically, the answers and base records a project keeps, the
three-way `update` with its `merge`, and the checked-in examples. It stands on the engine and the
rule set and never talks to the terminal.
"""
