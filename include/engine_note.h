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
#define XS_NOTE_TYPE 1

/* In the engine's main.c, once: the note as its own SHT_NOTE section. */
#define XS_ENGINE_NOTE                                                        \
	__asm__(".pushsection .note.split-xenstored,\"a\",@note\n"             \
		".balign 4\n"                                                  \
		".long 16\n"                                                   \
		".long 10\n"                                                   \
		".long 1\n"                                                    \
		".asciz \"split-xenstored\"\n"                                 \
		".asciz \"xs-engine\"\n"                                       \
		".balign 4\n"                                                  \
		".popsection\n")

#endif
