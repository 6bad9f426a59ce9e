//! Process calls: `pidfd_open`, `waitid`, `pipe2`, `kill` (being written).
