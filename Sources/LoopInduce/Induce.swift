/// The offline program inducer (issue 4): learns a readable `.loop` program from labeled examples.
/// Being written; see Inducer.swift once it lands.
public enum LoopInduce {}
