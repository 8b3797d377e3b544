/// Program generation with an LLM and the oracle (issue 4).
public enum LoopGenerate {}
