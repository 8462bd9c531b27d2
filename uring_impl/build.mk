# uring_impl/: the io_uring server, one ring, one task per connection (completions).
PROGRAMS += $(BIN)/uring_server
$(BIN)/uring_server: $(call obj,$(wildcard uring_impl/*.c)) $(COMMON_OBJ)
$(BIN)/uring_server: LDLIBS += -luring
