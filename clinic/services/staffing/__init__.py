"""The clinic's set-up for its admin: staff, practitioners' hours and time off, rooms and
devices, opening hours, holidays and policy."""
