# common/: code both servers and the harness link (every .c here).
COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(call obj,$(COMMON_SRC))
