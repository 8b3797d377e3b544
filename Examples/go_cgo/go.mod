module loopai.example/classify

go 1.19
