/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ELF note that marks an xs-engine binary. A live update names its
 * binary through the engine, which is not trusted: the broker runs only a
 * file that carries this note (broker/liveupdate.c), so that a subverted
 * engine cannot have it start another program, before the engine's sandbox
 * has dropped the privileges the broker starts it with.
 */
#ifndef XS_ENGINE_NOTE_H
#define XS_ENGINE_NOTE_H

/* ELF note: namesz, descsz, type, then name and desc, each padded to 4. */
#define XS_NOTE_NAME "split-xenstored"
#define XS_NOTE_DESC "xs-engine"
/* The broker's build, which a live update may replace the broker with. */
#define XS_NOTE_DESC_BROKER "xs-broker"
#define XS_NOTE_TYPE 1

/* XS_NOTE_TYPE as the assembler wants it: "1". */
#define XS_NOTE_STR_(x) #x
#define XS_NOTE_STR(x) XS_NOTE_STR_(x)

/*
 * In each main.c, once: the note as a section of its own of type SHT_NOTE,
 * which the linker puts in a PT_NOTE segment. The sizes are the
 * assembler's, from labels around the name and the description.
 */
#define XS_ENGINE_NOTE XS_BUILD_NOTE(XS_NOTE_DESC)
#define XS_BROKER_NOTE XS_BUILD_NOTE(XS_NOTE_DESC_BROKER)
#define XS_BUILD_NOTE(desc)                                                    \
	__asm__(".pushsection .note.split-xenstored,\"a\",@note\n"             \
		".balign 4\n"                                                  \
		".long 2f - 1f\n"                                              \
		".long 4f - 3f\n"                                              \
		".long " XS_NOTE_STR(XS_NOTE_TYPE) "\n"                        \
						   "1: .asciz \"" XS_NOTE_NAME \
						   "\"\n"                      \
						   "2: .balign 4\n"            \
						   "3: .asciz \"" desc "\"\n"  \
						   "4: .balign 4\n"            \
						   ".popsection\n")

#endif
