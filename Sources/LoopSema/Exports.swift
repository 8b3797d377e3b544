@_exported import LoopDiagnostics
@_exported import LoopSyntax
