// The BLAS the engine calls: OpenBLAS's cblas.h on Linux. (On Apple platforms the Tensors
// module imports Accelerate instead and never sees this target.)
#include <cblas.h>
