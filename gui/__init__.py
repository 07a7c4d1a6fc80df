"""GRU Memory Lab\x27s Qt views and controls; they display what core/ computes."""
