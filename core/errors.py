"""Input errors: bad files, settings or arguments, reported as one line naming what and where."""

from __future__ import annotations


class InputError(Exception):
    """Bad input caught before anything is written; the CLI prints it and exits with code 2.

    ``where`` names the place (``mappings/x.yaml:14 fields.country.value_map``, ``DATABASE_URL``)
    so an admin can go straight to it.
    """

    exit_code = 2

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


class InputErrors(InputError):  # noqa: N818 - a batch of InputError, named for what it holds
    """Several input errors found in one pass (e.g. every problem in every mapping file)."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.where, first.message)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
