"""What a run means, computed from its numbers: the verdict and reference lines (`verdict`), plain-word hints
resting on evidence (`hints`), the hidden-state portrait and memory probe (`probes`, `inspection`), and one step
told in words (`step_story`).
"""
