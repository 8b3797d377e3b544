/// The self-improvement loop (issue 5).
public enum LoopRuntime {}
