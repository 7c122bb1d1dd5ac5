/* FFN: h = requant(x W1) into a DTCM buffer, g = SiLU table of h, Y = requant(g W2). */
static int8_t g[P_N][P_I];

static void layer(const int8_t *in, const int8_t *w, int8_t *out, int rows, int inner, int cols, int32_t mult,
                  int shift) {
  for (int m = 0; m < rows; m++) {
    for (size_t n = 0; n < (size_t)cols;) {
      size_t vl = __riscv_vsetvl_e32m4(cols - n);
      vint32m4_t acc = __riscv_vmv_v_x_i32m4(0, vl);
      for (int k = 0; k < inner; k++) {
        vint16m2_t wv = __riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(w + k * cols + n, vl), vl);
        acc = __riscv_vwmacc_vx_i32m4(acc, in[m * inner + k], wv, vl);
      }
      acc = __riscv_vsmul_vx_i32m4(acc, mult, __RISCV_VXRM_RNU, vl);
      acc = __riscv_vssra_vx_i32m4(acc, shift, __RISCV_VXRM_RNU, vl);
      acc = __riscv_vmax_vx_i32m4(__riscv_vmin_vx_i32m4(acc, 127, vl), -128, vl);
      vint16m2_t a16 = __riscv_vncvt_x_x_w_i16m2(acc, vl);
      __riscv_vse8_v_i8m1(out + m * cols + n, __riscv_vncvt_x_x_w_i8m1(a16, vl), vl);
      n += vl;
    }
  }
}

int main(void) {
  layer((const int8_t *)X_ADDR, (const int8_t *)W1_ADDR, &g[0][0], P_N, P_H, P_I, MULTIPLIER1, SHIFT1);
  const int8_t *lut = (const int8_t *)SILU_TABLE_ADDR;
  int8_t *h = &g[0][0];
  for (size_t i = 0; i < P_N * P_I;) {
    size_t vl = __riscv_vsetvl_e8m1(P_N * P_I - i);
    vuint8m1_t index = __riscv_vxor_vx_u8m1(__riscv_vreinterpret_v_i8m1_u8m1(__riscv_vle8_v_i8m1(h + i, vl)), 0x80, vl);
    __riscv_vse8_v_i8m1(h + i, __riscv_vluxei16_v_i8m1(lut, __riscv_vzext_vf2_u16m2(index, vl), vl), vl);
    i += vl;
  }
  layer(&g[0][0], (const int8_t *)W2_ADDR, (int8_t *)Y_ADDR, P_N, P_I, P_H, MULTIPLIER2, SHIFT2);
  return 0;
}
