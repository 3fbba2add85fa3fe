// The byte tokenizer (id = byte value) as a Hugging Face tokenizers file:
// a byte-level BPE with no merges and no pre-tokenizer split, whose 256
// vocabulary entries are GPT-2's printable stand-ins for the bytes (0x20 is
// "Ġ", 0x41 is "A"). It encodes any text to exactly loglin's ids. loglin's
// BPE tokenizers have no such file: their merges stay inside chunks
// (train/tokenizer/pretokenize.h) that no tokenizers pre-tokenizer cuts the
// same way, so they are exported in loglin's format only.
#pragma once
#include <cstdint>
#include <string>

namespace loglin::hf {

// The UTF-8 text GPT-2's byte-level alphabet uses for byte b.
std::string byte_level_char(unsigned char b);

// tokenizer.json and tokenizer_config.json for the byte tokenizer.
std::string byte_tokenizer_json();
std::string byte_tokenizer_config_json(int64_t max_length);

}  // namespace loglin::hf
