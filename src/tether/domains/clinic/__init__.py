"""A clinic's appointment desk: patients book, move and cancel appointments with its
clinicians, and ask about the clinic's rules. The pack is declared in `pack.py` (`CLINIC`);
importing this package loads nothing else."""
