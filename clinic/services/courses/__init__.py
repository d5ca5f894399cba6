"""Courses booked and lived: plan and book, the rest of a course, moves, cancellations,
outcomes, and the calendar's reads."""
