"""A (delayed) task queue on Restate. Imported as ``taskqueue``: ``queue`` is the standard library's."""
