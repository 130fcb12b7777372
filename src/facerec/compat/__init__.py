"""Drop-in replacements for other face libraries' APIs, running on facerec's models.

* :mod:`facerec.compat.face_recognition` -- face_recognition 1.3's functions, commands and return types.
"""

__all__: list[str] = []
