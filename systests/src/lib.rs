//! System tests: see tests/.
