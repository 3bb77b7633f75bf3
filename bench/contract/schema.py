"""How the contract is written down: a `Key` is the key's string itself, with its unit and meaning.

A `Section` subclass lists the keys of one place of the results file as class attributes,
`name = Spec(unit, meaning)`; the class turns each into a `Key`, a `str` that equals its own
name. Writers and readers use the attribute (`info[Case.images_per_sec]`), never the string
typed again: a typo is an AttributeError where the key is used, not a silent miss in a report.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    """A key's unit and meaning, before its class names it."""

    unit: str
    meaning: str
    required: bool = False  # every case (or file) that has this section writes it
    fields: type[Section] | None = None  # a dict whose own keys are fixed: checked one level down


class Key(str):
    """A result-file key: the string itself, with its unit, meaning and section."""

    unit: str
    meaning: str
    required: bool
    section: str
    fields: type[Section] | None

    def __new__(cls, name: str, spec: Spec, section: str) -> Key:
        key = super().__new__(cls, name)
        key.unit, key.meaning, key.required, key.section = spec.unit, spec.meaning, spec.required, section
        key.fields = spec.fields
        return key

    def __reduce__(self):
        # Copies and pickles are the plain string: a key is written to files as text anyway.
        return str, (str(self),)

    def describe(self) -> str:
        """'images_per_sec (images/s): images_per_round / median round'."""
        return f"{self} ({self.unit}): {self.meaning}"


class Section:
    """The keys of one place of the results file, as class attributes (see the module docstring)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if isinstance(value, Spec):
                setattr(cls, name, Key(name, value, cls.__name__))

    @classmethod
    def keys(cls) -> dict[str, Key]:
        """Every key of this section (and of the sections it extends), by name."""
        found: dict[str, Key] = {}
        for klass in reversed(cls.__mro__):
            found.update((name, value) for name, value in vars(klass).items() if isinstance(value, Key))
        return found

    @classmethod
    def required(cls) -> set[str]:
        return {name for name, key in cls.keys().items() if key.required}
