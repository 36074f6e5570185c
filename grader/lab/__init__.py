"""The lab's sandbox side: ``python -m studytool.grader.lab.runner`` and one module per experiment.

Runs inside the grader's sandbox (see studytool/lab.py for the trusted side). Imports torch.
"""
