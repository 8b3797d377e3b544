/// The validation store (issue 5).
public enum LoopStore {}
