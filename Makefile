# swift-hrm: two commands do everything on a fresh Debian/Ubuntu machine.
#   make demo   install what is missing, build (release, CPU flags), run the demo (hrm demo)
#   make test   install what is missing, build, run the whole test suite
# Other targets: make build, make bench, make deps, make clean,
#   make install [PREFIX=/usr/local]   hrm in PREFIX/bin, the shipped models in PREFIX/share/swift-hrm/models
#   make fuzz [FUZZ_SECONDS=30]        the libFuzzer targets over every parser (tools/fuzz)
# ONEDNN=1 (e.g. `make test ONEDNN=1`) builds with the package trait OneDNN: bf16 matrix products
# through oneDNN (installs libdnnl-dev), in its own build folder .build-onednn.

SHELL := /bin/bash
comma := ,
space := $(subst ,, )
UNAME_S := $(shell uname -s)
UNAME_M := $(shell uname -m)

# The binary never leaves this machine, so it is built for this CPU (AVX-512 on the project's
# machines: about 2x on the Swift-side exp-heavy kernels, notes §2). Override with
# `make CPU_FLAGS=` for a portable build, or CPU_FLAGS="-Xcc -march=x86-64-v3".
ifeq ($(UNAME_M),x86_64)
CPU_FLAGS ?= -Xcc -march=native
else
CPU_FLAGS ?=
endif

# MPI=1 builds with the package trait MPI (data-parallel `mpirun -np N hrm train`; installs
# libopenmpi-dev and openmpi-bin) in .build-mpi; with ONEDNN=1 too, both traits in .build-onednn-mpi.
TRAITS := $(if $(filter 1,$(ONEDNN)),OneDNN) $(if $(filter 1,$(MPI)),MPI)
TRAITS := $(strip $(TRAITS))
ifeq ($(TRAITS),)
TRAIT_FLAGS :=
SCRATCH := .build
else
SCRATCH := .build$(if $(filter 1,$(ONEDNN)),-onednn)$(if $(filter 1,$(MPI)),-mpi)
TRAIT_FLAGS := --traits $(subst $(space),$(comma),$(TRAITS)) --scratch-path $(SCRATCH)
endif
HRM := $(SCRATCH)/release/hrm

SWIFT_BUILD := swift build -c release $(CPU_FLAGS) $(TRAIT_FLAGS)
SWIFT_TEST := swift test -c release $(CPU_FLAGS) $(TRAIT_FLAGS)

PREFIX ?= /usr/local

.PHONY: demo test build bench deps clean install fuzz

demo: deps build
	$(HRM) demo --out demo-output --force

test: deps
ifeq ($(MPI),1)
	$(SWIFT_BUILD) --product hrm  # the mpirun tests launch this binary
endif
	$(SWIFT_TEST)

build: deps
	$(SWIFT_BUILD) --product hrm

# The binary finds the models in ../share/swift-hrm/models beside its bin/ (ShippedModels).
install: build
	install -d "$(PREFIX)/bin" "$(PREFIX)/share/swift-hrm/models"
	install -m 755 $(HRM) "$(PREFIX)/bin/hrm"
	for m in models/*/; do \
	  name=$$(basename $$m); rm -rf "$(PREFIX)/share/swift-hrm/models/.$$name.new"; \
	  cp -R "$$m" "$(PREFIX)/share/swift-hrm/models/.$$name.new" && \
	  rm -rf "$(PREFIX)/share/swift-hrm/models/$$name" && \
	  mv "$(PREFIX)/share/swift-hrm/models/.$$name.new" "$(PREFIX)/share/swift-hrm/models/$$name"; \
	done
	@echo "installed $(PREFIX)/bin/hrm and the models in $(PREFIX)/share/swift-hrm/models"

FUZZ_SECONDS ?= 30
fuzz: deps
	tools/fuzz/run --seconds $(FUZZ_SECONDS)

bench: deps build
	$(HRM) bench kernels

# OpenBLAS through pkg-config on Linux; Accelerate on macOS needs nothing.
deps:
ifeq ($(UNAME_S),Linux)
	@if ! pkg-config --exists openblas 2>/dev/null; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing libopenblas-dev (OpenBLAS, the BLAS the engine calls)..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev pkg-config; \
	  else \
	    echo "swift-hrm needs OpenBLAS. Install it, then run make again:"; \
	    echo "    sudo apt-get install -y libopenblas-dev pkg-config"; \
	    exit 1; \
	  fi; \
	fi
ifeq ($(ONEDNN),1)
	@if [ ! -f /usr/include/oneapi/dnnl/dnnl.h ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing libdnnl-dev (oneDNN, for bf16 matrix products)..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdnnl-dev; \
	  else \
	    echo "ONEDNN=1 needs oneDNN. Install it, then run make again:"; \
	    echo "    sudo apt-get install -y libdnnl-dev"; \
	    exit 1; \
	  fi; \
	fi
endif
ifeq ($(MPI),1)
	@if ! pkg-config --exists ompi-c 2>/dev/null || ! command -v mpirun >/dev/null; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing libopenmpi-dev and openmpi-bin (Open MPI, for data-parallel training)..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenmpi-dev openmpi-bin; \
	  else \
	    echo "MPI=1 needs Open MPI. Install it, then run make again:"; \
	    echo "    sudo apt-get install -y libopenmpi-dev openmpi-bin"; \
	    exit 1; \
	  fi; \
	fi
endif
	@command -v swift >/dev/null || { echo "swift-hrm needs Swift 6.1 or later on the PATH (https://swift.org/install)."; exit 1; }
endif

clean:
	rm -rf .build .build-onednn .build-mpi .build-onednn-mpi
