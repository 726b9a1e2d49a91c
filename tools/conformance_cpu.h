/* `mtcc conformance --backend cpu` (conformance_cpu.c): the ONNX backend cases through bundles
 * with generated CPU code, run by libmtrt's CPU backend. */
#ifndef MT_TOOLS_CONFORMANCE_CPU_H
#define MT_TOOLS_CONFORMANCE_CPU_H

/* argv: the case folders and options of `conformance`, without --backend; returns the exit
 * code as mt_conformance_main does. */
int mt_conformance_cpu_main(int argc, char **argv);

#endif
