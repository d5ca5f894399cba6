"""A course over its lifetime (DOMAIN.md): changes of the world, the attention list, and the
rules a booked course keeps."""
