"""The gallery's models: what each is trained on, how, and what it shows (English and Korean).

`what_to_look_for` is a template: {u0}, {u1}, {u2} are the watched units (counted from 1, as the
page shows them; Korean puts them before 번 so no particle follows a number), filled in by the
training script from the units the measures chose (0-based, as the API's arrays), and
{metric_name} a measured figure from the manifest (three significant digits).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..nn import train as T


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    cell: str
    steps: int  # sequence length (training windows for the code model)
    settings: T.Settings
    title: dict[str, str]
    what_to_look_for: dict[str, str]
    delay: int = 0
    # Figures the mechanism test asserts (metric name -> (">=" or "<=", bound)).
    claims: dict[str, tuple[str, float]] = field(default_factory=dict)


def _settings(cell: str, hidden: int, steps: int, lr: float = 0.01, batch: int = 32, seed: int = 0) -> T.Settings:
    return T.Settings(cell=cell, hidden_size=hidden, steps=steps, batch_size=batch, lr=lr, seed=seed, clip=1.0)


ADDING_STEPS = 50
CODE_STEPS = 200  # characters per training window: long enough for whole lines
LONG_ADDING_STEPS = 100  # the RNN/GRU contrast: the same task, training and size for both cells

ENTRIES: list[Entry] = [
    Entry(
        "adding-lstm",
        "adding",
        "lstm",
        ADDING_STEPS,
        _settings("lstm", 8, 4000),
        {"en": "Adding problem: the input gate opens twice", "ko": "덧셈 문제: 입력 게이트가 두 번 열려요"},
        {
            "en": "Each step brings a value and a marker; two of the 50 steps are marked. Watch cell unit {u0}: "
            "its input gate i stays shut (near 0) on unmarked steps and opens on the two marked ones, so c takes "
            "in almost nothing but those two values and holds their sum to the last step, where the head reads it.",
            "ko": "각 시점에는 값과 표시가 하나씩 들어와요. 50개 시점 중 두 시점에만 표시가 있어요. {u0}번 셀 유닛을 "
            "보세요. 표시가 없는 시점에서는 입력 게이트 i가 (0 가까이) 닫혀 있고, 표시된 두 시점에서만 열려요. "
            "그래서 c에는 거의 그 두 값만 더해지고, 그 합을 마지막 시점까지 지녀요. 출력층은 마지막 시점에서 그 값을 읽어요.",
        },
        claims={
            "mse": ("<=", 0.01),
            "sum_unit_r": (">=", 0.95),
            "i_marked": (">=", 0.5),
            "i_unmarked": ("<=", 0.1),
        },
    ),
    Entry(
        "adding-rnn",
        "adding",
        "rnn",
        LONG_ADDING_STEPS,
        _settings("rnn", 16, 4000),
        {
            "en": "Adding at T = 100, plain RNN: the gradient vanishes",
            "ko": "T = 100 덧셈 문제, 기본 RNN: 기울기가 사라져요",
        },
        {
            "en": "The adding problem over 100 steps, on a plain tanh RNN of 16 units, trained exactly like the GRU "
            "beside it. It does not learn: its MSE ({mse}) is no better than always answering the mean "
            "({baseline_mse}). Open the gradient flow: each step back multiplies the gradient by W_hhᵀ and tanh's "
            "derivative and shrinks it, so ||dL/dh_1|| is {grad_h1_over_hT} of ||dL/dh_T|| (the median over 1,000 "
            "sequences). The signal that would teach the weights to keep the first marked value never reaches "
            "its step. Even hidden unit {u0}, the one closest to the sum, hardly follows it (r = {sum_unit_r}).",
            "ko": "100 시점에 걸친 덧셈 문제를 유닛 16개짜리 기본 tanh RNN으로 풀어요. 옆의 GRU와 똑같이 학습했어요. "
            "이 RNN은 배우지 못해요. MSE가 언제나 평균을 답할 때보다 나을 게 없어요({mse}, 평균을 답하면 "
            "{baseline_mse}). 기울기 흐름을 열어 보세요. 한 시점 거슬러 올라갈 때마다 기울기에 W_hhᵀ와 tanh의 "
            "미분값이 곱해지면서 줄어들어서, ||dL/dh_1||이 ||dL/dh_T||의 {grad_h1_over_hT}배밖에 안 돼요"
            "(시퀀스 1,000개의 중앙값). 첫 번째 표시된 값을 기억하도록 가중치를 가르칠 신호가 그 시점까지 닿지 "
            "않아요. 합에 가장 가까운 {u0}번 은닉 유닛조차 합을 거의 따라가지 못해요(r = {sum_unit_r}).",
        },
        claims={"mse": (">=", 0.15), "sum_unit_r": ("<=", 0.3), "grad_h1_over_hT": ("<=", 1e-6)},
    ),
    Entry(
        "adding-gru",
        "adding",
        "gru",
        LONG_ADDING_STEPS,
        _settings("gru", 16, 4000),
        {
            "en": "Adding at T = 100, GRU: the update gate holds the sum",
            "ko": "T = 100 덧셈 문제, GRU: 업데이트 게이트가 합을 붙잡아 둬요",
        },
        {
            "en": "The same adding problem over 100 steps as the RNN beside it, same size (16 units), same training. "
            "Watch unit {u0}: on unmarked steps its update gate z stays near 1 (on average {z_unmarked}), so "
            "h_t = (1 - z) n_t + z h_(t-1) passes the old value on almost unchanged, across all 100 steps. On the "
            "two marked steps z drops (on average {z_marked}) and the new value is written in. Its final h follows "
            "the sum (r = {sum_unit_r}); the MSE is {mse}, against {baseline_mse} for always answering the mean. "
            "The gradient flow shows the same path backwards: ||dL/dh_1|| is {grad_h1_over_hT} of ||dL/dh_T||, "
            "where the RNN's has vanished.",
            "ko": "옆의 RNN과 같은 덧셈 문제를 100 시점에 걸쳐, 같은 크기(유닛 16개)와 같은 학습으로 풀어요. "
            "{u0}번 유닛을 보세요. 표시가 없는 시점에서는 업데이트 게이트 z가 1에 가까워서(평균 {z_unmarked}), "
            "h_t = (1 - z) n_t + z h_(t-1)이 이전 값을 거의 그대로 넘겨요. 그렇게 100 시점을 모두 지나요. 표시된 "
            "두 시점에서는 z가 내려가고(평균 {z_marked}) 새 값이 들어와요. 마지막 h는 합을 따라가요"
            "(r = {sum_unit_r}). MSE도 훨씬 낮아요({mse}, 언제나 평균을 답하면 {baseline_mse}). 기울기 흐름에서도 "
            "같은 길이 거꾸로 보여요. ||dL/dh_1||이 ||dL/dh_T||의 {grad_h1_over_hT}배로, 기울기가 사라진 RNN과 "
            "달리 앞쪽 시점까지 닿아요.",
        },
        claims={
            "mse": ("<=", 0.01),
            "sum_unit_r": (">=", 0.95),
            "z_unmarked": (">=", 0.95),
            "z_marked": ("<=", 0.5),
            "grad_h1_over_hT": (">=", 1e-3),
        },
    ),
    Entry(
        "temporal-order-lstm",
        "temporal_order",
        "lstm",
        50,
        _settings("lstm", 16, 4000),
        {"en": "Temporal order: two choices latched in the cell", "ko": "시간 순서: 두 선택을 셀에 붙잡아 둬요"},
        {
            "en": "In 50 steps of noise symbols (c, d), X or Y appears once early and once later; the class at the last "
            "step is their order (XX, XY, YX, YY). Watch cell unit {u0}: it flips when the first X/Y arrives and "
            "keeps that value through the noise; cell unit {u1} latches the second one.",
            "ko": "잡음 기호(c, d)로 채운 50개 시점 사이에 X나 Y가 앞쪽에 한 번, 뒤쪽에 한 번 나와요. 마지막 시점의 정답은 그 "
            "순서(XX, XY, YX, YY)예요. {u0}번 셀 유닛을 보세요. 첫 번째 X/Y가 나오면 값이 바뀌고, 잡음 속에서도 그 "
            "값을 그대로 지녀요. {u1}번 셀 유닛은 두 번째 기호를 붙잡아 둬요.",
        },
        claims={
            "accuracy": (">=", 0.99),
            "first_unit_accuracy": (">=", 0.95),
            "first_unit_accuracy_before_second": (">=", 0.95),
            "second_unit_accuracy": (">=", 0.95),
        },
    ),
    Entry(
        "copy-lstm",
        "copy",
        "lstm",
        28,
        _settings("lstm", 32, 4000),
        {"en": "Copy: four symbols held across a delay", "ko": "복사: 기호 네 개를 기다리는 동안 지녀요"},
        {
            "en": "The network sees 4 symbols, waits 20 steps, and at the go signal repeats them. During the wait "
            "the inputs say nothing, so what it repeats must be in its state: cell units {u0} and {u1} differ most "
            "with the symbols seen. The code is not frozen: it drifts during the wait (the network also keeps "
            "time), yet the symbols can be read from the cell at every waiting step.",
            "ko": "네트워크는 기호 4개를 보고, 20 시점을 기다린 뒤, 시작 신호가 오면 그 기호들을 되풀이해요. 기다리는 "
            "동안 입력에는 아무 정보가 없으니, 되풀이할 내용은 모두 상태에 들어 있어야 해요. {u0}번과 {u1}번 셀 유닛은 "
            "본 기호에 따라 가장 크게 달라져요. 값이 그대로 멈춰 있지는 않아요. 기다리는 동안 조금씩 움직이지만(시간도 "
            "함께 세고 있어요), 기다리는 어느 시점에서든 셀에서 그 기호들을 읽어 낼 수 있어요.",
        },
        delay=20,
        claims={"recall_accuracy": (">=", 0.99), "readout_accuracy_worst_waiting_step": (">=", 0.7)},
    ),
    Entry(
        "dyck-lstm",
        "dyck",
        "lstm",
        64,
        _settings("lstm", 8, 6000),
        {"en": "Balanced parentheses: a cell that counts", "ko": "괄호 짝 맞추기: 개수를 세는 셀"},
        {
            "en": "After each parenthesis the network says which symbols may come next: '(' while the depth is "
            "below 8, ')' while it is above 0, and 'end' when the string so far is balanced. To know, it must "
            "count: cell unit {u0} moves one notch per '(' and back per ')', so its value is the nesting depth.",
            "ko": "괄호를 하나 읽을 때마다 네트워크는 다음에 올 수 있는 기호를 말해요. 깊이가 8보다 작으면 '(', "
            "0보다 크면 ')', 지금까지의 문자열이 짝이 맞으면 'end'예요. 그러려면 개수를 세야 해요. {u0}번 셀 유닛은 "
            "'('마다 한 칸 움직이고 ')'마다 되돌아와서, 그 값이 곧 중첩 깊이예요.",
        },
        claims={"step_accuracy": (">=", 0.99), "depth_unit_r": (">=", 0.95)},
    ),
    Entry(
        "reber-lstm",
        "reber",
        "lstm",
        30,
        _settings("lstm", 16, 4000),
        {
            "en": "Embedded Reber grammar: one choice kept to the end",
            "ko": "임베디드 레버 문법: 한 번의 선택을 끝까지 기억해요",
        },
        {
            "en": "Strings start B, then T or P, then a whole Reber string, then the same T or P again, then E. "
            "After each symbol the network lights up every symbol the grammar allows next. Only the very first "
            "choice says what follows the inner string's E: cell unit {u0} takes one side for T and the other "
            "for P, and keeps it through the inner string.",
            "ko": "문자열은 B로 시작하고, T나 P가 온 다음, 레버 문자열 하나가 통째로 들어가고, 다시 같은 T나 P, 그리고 "
            "E로 끝나요. 기호를 하나 읽을 때마다 네트워크는 문법상 다음에 올 수 있는 기호를 모두 켜요. 안쪽 문자열의 "
            "E 다음에 무엇이 올지는 맨 처음의 선택만 알려 줘요. {u0}번 셀 유닛은 T면 한쪽, P면 다른 쪽 값을 가지고, "
            "안쪽 문자열 내내 그 값을 지녀요.",
        },
        claims={
            "strings_all_predictions_valid": (">=", 0.99),
            "choice_unit_accuracy_at_inner_end": (">=", 0.95),
        },
    ),
    Entry(
        "code-lstm",
        "code",
        "lstm",
        CODE_STEPS,
        _settings("lstm", 128, 3000, batch=16),
        {
            "en": "Python source: a cell that knows a line's indentation from its inner spaces",
            "ko": "파이썬 소스: 들여쓰기 공백과 줄 안의 공백을 구별하는 셀",
        },
        {
            "en": "The network reads this project's own Python source one character at a time and predicts the "
            "next one ({bits_per_character} bits per character on files it never trained on; the characters' own "
            "frequencies give {baseline_bits_per_character}). A space is the same input wherever it stands, yet "
            "cell unit {u0} tells the spaces that indent a line from the spaces between words: it sits on one side "
            "for the first kind and on the other for the second, so it must remember whether anything but spaces "
            "came since the newline. Over the held-out files' spaces its value correlates with being indentation "
            "(r = {in_indentation_unit_r}), and one threshold on it sorts nearly all of them (right for "
            "{in_indentation_unit_accuracy}; always answering the commoner kind: "
            "{baseline_in_indentation_accuracy}). No unit holds being inside a string as cleanly (the closest, "
            "cell unit {u1}: r = {in_string_unit_r}).",
            "ko": "네트워크는 이 프로젝트의 파이썬 소스를 한 글자씩 읽고 다음 글자를 예측해요(학습에 쓰지 않은 파일에서 "
            "글자당 {bits_per_character}비트, 글자 빈도만 쓰면 {baseline_bits_per_character}비트). 공백은 어디에 "
            "있든 똑같은 입력인데도 {u0}번 셀 유닛은 줄을 들여쓰는 공백과 단어 사이의 공백을 구별해요. 앞의 것에서는 "
            "한쪽 값을, 뒤의 것에서는 다른 쪽 값을 가져요. 그러려면 줄바꿈 뒤에 공백 말고 다른 글자가 나왔는지 "
            "기억하고 있어야 해요. 학습에 쓰지 않은 파일의 공백들에서 이 유닛의 값은 들여쓰기 여부와 함께 움직이고"
            "(r = {in_indentation_unit_r}), 임계값 하나로 거의 다 가려내요(맞힌 비율 {in_indentation_unit_accuracy}, "
            "항상 더 흔한 쪽으로 답하면 {baseline_in_indentation_accuracy}). 문자열 안인지를 이만큼 뚜렷하게 지니는 "
            "유닛은 없어요(가장 가까운 {u1}번 셀 유닛도 r = {in_string_unit_r}).",
        },
        claims={
            "in_indentation_unit_r": (">=", 0.7),
            "in_indentation_unit_accuracy": (">=", 0.9),
            "bits_per_character": ("<=", 2.5),
        },
    ),
]
