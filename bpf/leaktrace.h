/* SPDX-License-Identifier: MIT */
#ifndef LEAKTRACE_H
#define LEAKTRACE_H
#endif
