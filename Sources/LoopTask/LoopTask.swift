import Yams

/// Task files (issue 4): being written.
public enum LoopTask {}
