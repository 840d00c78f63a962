"""Transfer pages: a village asks to move a child to another village, the receiving village decides."""
