"""What the engine reads: the snapshot of who and what is busy, courses and the rules an
enrolment keeps, a client's state, how far a course has got."""
