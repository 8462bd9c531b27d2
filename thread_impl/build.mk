# thread_impl/: the pthread server, one blocking thread per connection.
PROGRAMS += $(BIN)/thread_server
$(BIN)/thread_server: $(call obj,$(wildcard thread_impl/*.c)) $(COMMON_OBJ)
