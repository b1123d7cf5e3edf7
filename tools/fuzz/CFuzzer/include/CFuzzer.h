// The fuzz binary's entry point. SwiftPM links an executable target with `main` defined as
// `<target>_main` (here hrm_fuzz_main), so libFuzzer's own main cannot be the program's; this
// one hands libFuzzer's driver the Swift target's LLVMFuzzerTestOneInput.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int hrm_fuzz_main(int argc, char **argv);
